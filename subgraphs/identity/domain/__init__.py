"""identity's rules for users, organisations, roles and permissions, apart from GraphQL: the resolvers in
schema.py call these, and so can the OAuth server and jobs."""
