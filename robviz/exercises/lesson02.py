"""Self-checks for lesson 2 (registered on import by robviz.exercises)."""
