"""The desk's six services as first configured; used by the data migration and the demo seed.

Admins edit services in the admin afterwards; this module only fills an empty catalogue.
"""

DESK_SERVICES: list[dict] = [
    {
        "code": "registration-eu",
        "display_order": 10,
        "name_en": "Fast-track registration (EU/EEA/Swiss nationals)",
        "name_nl": "Snelle inschrijving (EU/EER/Zwitserse nationaliteit)",
        "description_en": (
            "Register as a new resident in the municipal personal records database (BRP) and receive your "
            "citizen service number (BSN). For EU, EEA and Swiss nationals moving to one of the 17 participating "
            "South Limburg municipalities."
        ),
        "description_nl": (
            "Schrijf u in als nieuwe inwoner in de Basisregistratie Personen (BRP) en ontvang uw "
            "burgerservicenummer (BSN). Voor mensen met een EU-, EER- of Zwitserse nationaliteit die gaan wonen in "
            "een van de 17 deelnemende Zuid-Limburgse gemeenten."
        ),
        "what_to_bring_en": (
            "A valid passport or national ID card for every person; your rental contract or the written "
            "permission of the main occupant with a copy of their ID; for children and partners, a legalised or "
            "apostilled birth or marriage certificate if you have one."
        ),
        "what_to_bring_nl": (
            "Een geldig paspoort of identiteitskaart van iedere persoon; uw huurcontract of de schriftelijke "
            "toestemming van de hoofdbewoner met een kopie van diens identiteitsbewijs; voor kinderen en partners een "
            "gelegaliseerde of van een apostille voorziene geboorte- of huwelijksakte als u die heeft."
        ),
        "duration_minutes": 15,
        "max_persons": 6,
        "requires_municipality": True,
        "ind_product_key": "",
    },
    {
        "code": "registration-non-eu",
        "display_order": 20,
        "name_en": "Fast-track registration (non-EU nationals)",
        "name_nl": "Snelle inschrijving (niet-EU-nationaliteit)",
        "description_en": (
            "Register as a new resident in the municipal personal records database (BRP) and receive your "
            "citizen service number (BSN), often in the same visit as your residence permit. For non-EU nationals "
            "moving to one of the 17 participating South Limburg municipalities."
        ),
        "description_nl": (
            "Schrijf u in als nieuwe inwoner in de Basisregistratie Personen (BRP) en ontvang uw "
            "burgerservicenummer (BSN), vaak in hetzelfde bezoek als uw verblijfsvergunning. Voor mensen zonder "
            "EU-nationaliteit die gaan wonen in een van de 17 deelnemende Zuid-Limburgse gemeenten."
        ),
        "what_to_bring_en": (
            "A valid passport for every person; your rental contract or the written permission of the main "
            "occupant with a copy of their ID; a legalised or apostilled birth certificate, and marriage "
            "certificate if married; the IND letter about your application if you have one."
        ),
        "what_to_bring_nl": (
            "Een geldig paspoort van iedere persoon; uw huurcontract of de schriftelijke toestemming van de "
            "hoofdbewoner met een kopie van diens identiteitsbewijs; een gelegaliseerde of van een apostille "
            "voorziene geboorteakte, en huwelijksakte als u getrouwd bent; de brief van de IND over uw aanvraag als "
            "u die heeft."
        ),
        "duration_minutes": 30,
        "max_persons": 6,
        "requires_municipality": True,
        "ind_product_key": "",
    },
    {
        "code": "biometrics",
        "display_order": 30,
        "name_en": "Biometrics (fingerprints, photo and signature)",
        "name_nl": "Biometrie (vingerafdrukken, pasfoto en handtekening)",
        "description_en": (
            "The IND takes your fingerprints, passport photo and signature for your residence permit. For "
            "non-EU nationals whose application was submitted by their employer or who were asked by the IND."
        ),
        "description_nl": (
            "De IND neemt uw vingerafdrukken, pasfoto en handtekening af voor uw verblijfsvergunning. Voor mensen "
            "zonder EU-nationaliteit van wie de werkgever de aanvraag heeft ingediend of die door de IND zijn "
            "uitgenodigd."
        ),
        "what_to_bring_en": "Your valid passport and the IND letter that asks you to give your biometrics.",
        "what_to_bring_nl": "Uw geldige paspoort en de brief van de IND waarin u gevraagd wordt uw biometrie te geven.",
        "duration_minutes": 15,
        "max_persons": 6,
        "requires_municipality": False,
        "ind_product_key": "BIO",
    },
    {
        "code": "document-pickup",
        "display_order": 40,
        "name_en": "Residence document pickup",
        "name_nl": "Verblijfsdocument ophalen",
        "description_en": (
            "Collect your residence permit card after the IND decided positively on your application. "
            "Every person collects their own card; a parent collects for a child under 12."
        ),
        "description_nl": (
            "Haal uw verblijfspas op nadat de IND positief heeft beslist op uw aanvraag. Iedereen haalt de eigen "
            "pas op; een ouder haalt de pas op voor een kind jonger dan 12."
        ),
        "what_to_bring_en": "Your valid passport and the IND letter saying your residence document is ready.",
        "what_to_bring_nl": "Uw geldige paspoort en de brief van de IND dat uw verblijfsdocument klaarligt.",
        "duration_minutes": 10,
        "max_persons": 6,
        "requires_municipality": False,
        "ind_product_key": "DOC",
    },
    {
        "code": "residence-sticker",
        "display_order": 50,
        "name_en": "Residence endorsement sticker",
        "name_nl": "Verblijfssticker",
        "description_en": (
            "The IND places a residence endorsement sticker in your passport, for example while you wait for "
            "your residence card and need to travel."
        ),
        "description_nl": (
            "De IND plakt een verblijfssticker in uw paspoort, bijvoorbeeld als u moet reizen terwijl u op uw "
            "verblijfspas wacht."
        ),
        "what_to_bring_en": "Your valid passport, with a free page, and the IND letter about your application.",
        "what_to_bring_nl": "Uw geldige paspoort met een lege pagina, en de brief van de IND over uw aanvraag.",
        "duration_minutes": 15,
        "max_persons": 6,
        "requires_municipality": False,
        "ind_product_key": "VAA",
    },
    {
        "code": "immigration-advice",
        "display_order": 60,
        "name_en": "Information on Dutch immigration rules",
        "name_nl": "Informatie over de Nederlandse immigratieregels",
        "description_en": (
            "Ask the IND about residence permits, family members, changing employers or staying after your "
            "studies. For anyone who wants to live and work in South Limburg."
        ),
        "description_nl": (
            "Stel uw vragen aan de IND over verblijfsvergunningen, gezinsleden, van werkgever wisselen of blijven "
            "na uw studie. Voor iedereen die in Zuid-Limburg wil wonen en werken."
        ),
        "what_to_bring_en": "Your passport and any letters from the IND or your employer that your question is about.",
        "what_to_bring_nl": "Uw paspoort en de brieven van de IND of uw werkgever waarover uw vraag gaat.",
        "duration_minutes": 20,
        "max_persons": 2,
        "requires_municipality": False,
        "ind_product_key": "",
    },
]


# The order of a one-stop visit (services.models.ServiceOrder): registration with the municipality comes
# before the IND's services, as the desk runs them (the IND needs the BSN and the address).
DESK_SERVICE_ORDER: list[tuple[str, str]] = [
    (registration, ind)
    for registration in ("registration-eu", "registration-non-eu")
    for ind in ("biometrics", "document-pickup", "residence-sticker", "immigration-advice")
]


def fill_catalogue(service_model, order_model) -> None:
    """Create whichever of the catalogue's services and order rules are missing (models passed in, so that
    the data migrations can give their historical ones)."""
    for row in DESK_SERVICES:
        service_model.objects.get_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})
    if order_model is None:
        return
    by_code = {
        service.code: service for service in service_model.objects.filter(code__in=[r["code"] for r in DESK_SERVICES])
    }
    for earlier, later in DESK_SERVICE_ORDER:
        order_model.objects.get_or_create(earlier=by_code[earlier], later=by_code[later])
