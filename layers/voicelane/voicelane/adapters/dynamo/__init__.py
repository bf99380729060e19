"""DynamoDB adapters over the single table (key layout: docs/data-model.md)."""
