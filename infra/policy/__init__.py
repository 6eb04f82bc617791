"""Policy as code: checkov suppressions (one file) and our own rules."""
