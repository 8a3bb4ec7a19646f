from django.urls import path

from insights.views import dashboard, feedback

app_name = "insights"

urlpatterns = [
    path("desk/insights/", dashboard.dashboard, name="dashboard"),
    path("desk/insights/<slug:table>.csv", dashboard.dashboard_csv, name="dashboard_csv"),
    path("feedback/<str:token>/", feedback.score, name="feedback"),
    path("feedback/<str:token>/comment/", feedback.comment, name="feedback_comment"),
    path("feedback/<str:token>/thanks/", feedback.thanks, name="feedback_thanks"),
]
