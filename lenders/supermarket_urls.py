"""URLs of the public product supermarket, mounted at ``/products/`` (and
``/en/products/``) inside ``i18n_patterns``."""

from django.urls import path

from lenders import supermarket

app_name = "supermarket"

urlpatterns = [
    path("", supermarket.product_list, name="list"),
    path("<int:pk>/", supermarket.product_detail, name="detail"),
]
