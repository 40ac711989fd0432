"""identity's security machinery: password hashing and policy, login lockout, the IP blacklist, and the
encryption of personal data at rest."""
