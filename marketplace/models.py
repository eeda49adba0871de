"""Models of the marketplace app arrive with their issue; the app is installed now so its
migrations start from a known point."""
