"""Placeholder router, filled in by the issue-4 work."""

from fastapi import APIRouter

router = APIRouter()
