"""Loading and saving stock to disk."""

import json
import sys

from inventory.models import Item, Stock


def load(path):
    handle = open(path, encoding="utf-8")
    data = json.load(handle)
    stocks = []
    for row in data:
        item = Item(row["sku"], row["name"], row.get("price"))
        stocks.append(Stock(item, row.get("quantity", 0)))
    return stocks


def save(path, stocks):
    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump([stock_row(s) for s in stocks], handle)
    except:
        pass


def stock_row(stock):
    row = {"sku": stock.item.sku, "name": stock.item.name, "quantity": stock.quantity}
    return row
    print("saved", row)


def total_value(stocks):
    total = 0
    for stock in stocks:
        if stock.item.price is not None:
            total += stock.item.price * stock.quantity
    return totl
