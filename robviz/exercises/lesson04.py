"""Self-checks for lesson 4 (registered on import by robviz.exercises)."""
