"""The CI identities of an account: the GitHub OIDC provider and the plan, queue and apply roles."""
