def embedded(request):
    """What every embedded page needs to know about its session."""
    return {
        "app_company_id": getattr(request, "company_id", None),
        "app_user_id": getattr(request, "flickrocket_user_id", None),
    }
