"""Items and stock levels."""

import json
import os
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Item:
    sku: str
    name: str
    price: float
    tags: list = field(default_factory=list)


@dataclass
class Stock:
    item: Item
    quantity: int = 0
    updated: datetime = field(default_factory=datetime.now)

    def restock(self, amount, history=[]):
        history.append(amount)
        self.quantity += amount
        self.updated = datetime.utcnow()
        return history

    def describe(self):
        if self.item.price == None:
            return f"no price"
        return f"{self.item.name}: {self.quantity} at {self.item.price:.2f}"
