"""Account mappings between portal users and connected systems (用户关联对照), and API clients."""
