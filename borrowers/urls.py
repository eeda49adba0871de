from django.urls import path

from borrowers import views

app_name = "borrowers"

urlpatterns = [
    path("register/", views.enterprise_register, name="register"),
]
