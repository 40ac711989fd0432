"""Batch jobs over the whole population, each runnable as `python -m subgraphs.population.jobs.<name>`."""
