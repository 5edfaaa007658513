"""Widgets shared by the pages: charts, source excerpts, diffs, the live refresher."""
