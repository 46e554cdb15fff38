"""Background jobs.

Jobs are rows in the ``jobs`` table, written in the same transaction as the
change that asks for them, so a job is never lost nor run for a change that
rolled back. The in-process back end runs them in worker threads of the server.
"""
