"""Claims pages: urls_remittances."""

urlpatterns: list = []
