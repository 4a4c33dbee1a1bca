"""Modal screens of the desk."""
