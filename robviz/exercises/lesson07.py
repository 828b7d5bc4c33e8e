"""Self-checks for lesson 7 (registered on import by robviz.exercises)."""
