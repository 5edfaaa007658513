"""Inventory demo package."""

from inventory.models import Item, Stock

__all__ = ["Item", "Stock"]
