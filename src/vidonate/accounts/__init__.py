"""Users, roles, passwords, API tokens and the cameras donors own."""
