"""Self-checks for lesson 5 (registered on import by robviz.exercises)."""
