from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from staff.api.serializers import MeSerializer


class MeView(APIView):
    """The caller: who they are, and their role in each organization they belong to."""

    # A signed-in user with no membership may still ask who they are.
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
