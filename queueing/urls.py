from django.urls import path

from queueing.views import counter, devices, display, kiosk, phone

app_name = "queueing"

urlpatterns = [
    path("kiosk/<slug:slug>/", kiosk.start, name="kiosk"),
    path("kiosk/<slug:slug>/walk-in/", kiosk.walk_in, name="kiosk_walk_in"),
    path("display/<slug:slug>/", display.display, name="display"),
    path("display/<slug:slug>/calls.json", display.calls, name="display_calls"),
    path("device/sign-in/<str:code>/", devices.sign_in, name="device_sign_in"),
    path("desk/queue/phone/", phone.book, name="phone_booking"),
    path("desk/queue/phone/<str:reference>/", phone.confirmation, name="phone_confirmation"),
    path("desk/queue/", counter.counters, name="counters"),
    path("desk/queue/counter/<int:counter_id>/", counter.counter_page, name="counter"),
    path("desk/queue/counter/<int:counter_id>/call-next/", counter.call_next, name="call_next"),
    path("desk/queue/counter/<int:counter_id>/ticket/<int:ticket_id>/<str:step>/", counter.ticket_step, name="step"),
]
