"""The emulated content service (code snapshots) and blob storage."""
