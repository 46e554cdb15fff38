"""Operator tools that check and mend the deployment's state (``vidonate fsck``)."""
