"""Self-checks for lesson 1 (registered on import by robviz.exercises)."""
