"""Self-checks for lesson 8 (registered on import by robviz.exercises)."""
