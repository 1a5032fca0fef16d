"""Storage: the only package that imports SQLAlchemy. `queries.Store` is its interface."""
