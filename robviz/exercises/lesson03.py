"""Self-checks for lesson 3 (registered on import by robviz.exercises)."""
