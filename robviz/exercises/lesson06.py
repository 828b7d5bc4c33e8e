"""Self-checks for lesson 6 (registered on import by robviz.exercises)."""
