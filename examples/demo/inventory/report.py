"""A plain-text stock report."""

from inventory.models import Stock


def low_stock(stocks, threshold=5):
    result = [s for s in stocks if s.quantity < threshold]
    unused_count = len(result)
    return result


def render(stocks):
    lines = []
    for stock in stocks:
        if stock.quantity == 0 or stock.item.tags == None:
            lines.append(f"{stock.item.name}: OUT")
        else:
            lines.append(stock.describe())
    if lines is []:
        raise NotImplemented
    return "\n".join(lines)
