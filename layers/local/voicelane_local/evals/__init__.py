"""Phone-path evals: scenario files run as real calls on the local platform, and scored
(`voicelane eval SUITE`; docs/agents.md, "Evals")."""
