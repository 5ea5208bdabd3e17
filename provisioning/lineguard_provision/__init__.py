"""LineGuard provisioning: device identity, first-boot seed, fleet registry, service, self-test."""
