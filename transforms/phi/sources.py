"""Which header elements feed a file's PHI dictionary, and as what.

Rule: an element feeds the dictionary when the confidentiality profile (PS3.15 Table E.1-1) would
remove or replace it and its value is a short, specific text (a name, an identifier, a place, a phone
number, a date or time). Free-text descriptors (the profile's Clean Descriptors "C" column: study
description, comments, ...) do not: they are *cleaned with* the dictionary, never used as one. The
choice per attribute is the table below; `tests/test_phi_dictionary.py` checks it against the profile
so that a new profile attribute cannot be silently forgotten.

By VR, whatever the keyword (private elements included): every PN is a name, every DA/DT/TM a date
or time, every AS an age.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

VR_CATEGORIES: Mapping[str, str] = MappingProxyType({"PN": "NAME", "DA": "DATE", "DT": "DATE", "TM": "TIME",
                                                     "AS": "AGE"})
PRIVATE_VRS = frozenset({"PN", "DA", "DT", "TM"})    # private text of other VRs is too often not PHI

_KEYWORDS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "ID": ("PatientID", "OtherPatientIDs", "AdmissionID", "ServiceEpisodeID", "MedicalRecordLocator",
           "InsurancePlanIdentification", "StudyID", "RequestedProcedureID", "PerformedProcedureStepID",
           "ScheduledProcedureStepID", "ResultsID", "InterpretationID", "ClinicalTrialSubjectID",
           "ClinicalTrialSubjectReadingID", "ClinicalTrialSeriesID", "ClinicalTrialSiteID",
           "ClinicalTrialProtocolID", "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
           "SpecimenIdentifier", "ContainerIdentifier", "SlideIdentifier", "BarcodeValue"),
    "ACCESSION": ("AccessionNumber", "FillerOrderNumberImagingServiceRequest",
                  "PlacerOrderNumberImagingServiceRequest", "SpecimenAccessionNumber"),
    "INSTITUTION": ("InstitutionName", "ResponsibleOrganization",
                    "HumanPerformerOrganization", "VerifyingOrganization", "ClinicalTrialSiteName",
                    "ClinicalTrialSponsorName", "ClinicalTrialCoordinatingCenterName",
                    "ClinicalTrialProtocolEthicsCommitteeName", "RequestingService", "IssuerOfPatientID",
                    "IssuerOfAdmissionID", "IssuerOfServiceEpisodeID", "StudyIDIssuer", "InterpretationIDIssuer",
                    "ResultsIDIssuer", "IssuerOfClinicalTrialProtocolID", "IssuerOfClinicalTrialSeriesID",
                    "IssuerOfClinicalTrialSiteID", "IssuerOfClinicalTrialSubjectID",
                    "IssuerOfClinicalTrialSubjectReadingID", "IssuerOfClinicalTrialTimePointID"),
    "ADDRESS": ("InstitutionAddress", "PatientAddress", "ReferringPhysicianAddress", "PersonAddress",
                "DistributionAddress", "AddressTrial", "CurrentPatientLocation", "PatientInstitutionResidence",
                "ScheduledPatientInstitutionResidence", "RegionOfResidence", "CountryOfResidence",
                "RequestedProcedureLocation", "ScheduledStudyLocation", "PerformedLocation",
                "ScheduledProcedureStepLocation", "OrderEntererLocation"),
    "PHONE": ("PatientTelephoneNumbers", "ReferringPhysicianTelephoneNumbers", "PersonTelephoneNumbers",
              "OrderCallbackPhoneNumber", "TelephoneNumberTrial", "PatientTelecomInformation",
              "PersonTelecomInformation", "OrderCallbackTelecomInformation"),
    "NAME": ("CameraOwnerName", "TopicAuthor"),
    "OTHER_PHI": ("DeviceSerialNumber", "DetectorID", "GantryID", "GeneratorID", "CassetteID", "PlateID",
                  "SourceSerialNumber", "StationName", "PerformedStationName", "ScheduledStationName",
                  "StationAETitle", "PerformedStationAETitle", "ScheduledStationAETitle",
                  "ScheduledStudyLocationAETitle", "RequestingAE", "ReceivingAE", "RetrieveAETitle",
                  "DestinationAE", "Originator", "NetworkID", "XRayDetectorID", "XRaySourceID",
                  "DeviceAlternateIdentifier", "UniqueDeviceIdentifier", "LensSerialNumber",
                  "ManufacturerDeviceIdentifier", "TreatmentMachineName", "DeviceLabel", "XRayDetectorLabel",
                  "EthnicGroup", "Occupation", "MilitaryRank", "BranchOfService", "PatientReligiousPreference"),
}

KEYWORD_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {keyword: category for category, keywords in _KEYWORDS_BY_CATEGORY.items() for keyword in keywords})

# Profile attributes with a text VR that deliberately do not feed the dictionary, and why.
EXCLUDED: Mapping[str, str] = MappingProxyType({
    **{f"Selector{vr}Value": "generic value of any meaning" for vr in
       ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UN", "UR", "UT")},
    "PatientSex": "one letter: matched in context (bracketed code, 'Sex:' label), never alone",
    "PatientSexNeutered": "coded value, not text on images",
    "SmokingStatus": "coded value",
    "InstanceOriginStatus": "coded value",
    "ModifyingDeviceID": "coded value",
    "ReasonForTheAttributeModification": "coded value",
    "TimezoneOffsetFromUTC": "'+0100': a number any line may hold",
    "ClinicalTrialProtocolName": "a study's name, not a person's",
    "ClinicalTrialTimePointID": "a time point label ('Baseline')",
    "ContainerComponentID": "a part number",
    "RTAccessoryDeviceSlotID": "a slot number",
    "RTAccessoryHolderSlotID": "a slot number",
    "ModifyingSystem": "a software name that must survive",
    "SourceManufacturer": "a manufacturer name that must survive",
    "DeviceDescription": "a device model that must survive",
    "LensMake": "a manufacturer name that must survive",
    "LensModel": "a model name that must survive",
    "TextString": "free text: cleaned, not matched",
    "TextComments": "free text: cleaned, not matched",
    "Arbitrary": "free text: cleaned, not matched",
    "ImagePresentationComments": "free text: cleaned, not matched",
    "ConfidentialityConstraintOnPatientDataDescription": "free text: cleaned, not matched",
    "PatientTransportArrangements": "free text: cleaned, not matched",
    "SpecialNeeds": "free text: cleaned, not matched",
    "PreMedication": "free text: cleaned, not matched",
    "TopicKeywords": "free text: cleaned, not matched",
    "TopicTitle": "free text: cleaned, not matched",
    "TopicSubject": "free text: cleaned, not matched",
    **{keyword: "camera geolocation: numbers and codes, not text on medical images" for keyword in (
        "GPSMapDatum", "GPSSatellites", "GPSAltitude", "GPSDestBearing", "GPSDestBearingRef", "GPSDestDistance",
        "GPSDestDistanceRef", "GPSDestLatitude", "GPSDestLatitudeRef", "GPSDestLongitude", "GPSDestLongitudeRef",
        "GPSDifferential", "GPSDOP", "GPSImgDirection", "GPSImgDirectionRef", "GPSLatitude", "GPSLatitudeRef",
        "GPSLongitude", "GPSLongitudeRef", "GPSMeasureMode", "GPSSpeed", "GPSSpeedRef", "GPSStatus", "GPSTrack",
        "GPSTrackRef")},
    "LensSpecification": "focal lengths and apertures",
    "ModifiedImageDescription": "free text: cleaned, not matched",
    "SourceOfPreviousValues": "an organisation name in an audit sequence, not image text",
    "InstitutionalDepartmentName": "a department ('Radiology') names no one and is common image text",
    "PatientSize": "a bare number cannot be told from a measurement",
    "PatientWeight": "a bare number cannot be told from a measurement",
})


def category_of(keyword: str | None, vr: str | None, is_private: bool) -> str | None:
    """The dictionary category of one element, or None when it does not feed the dictionary."""
    vr = (vr or "").upper()
    if is_private:
        return VR_CATEGORIES.get(vr) if vr in PRIVATE_VRS else None
    if vr in VR_CATEGORIES and not (keyword or "").startswith("Selector"):
        return VR_CATEGORIES[vr]
    return KEYWORD_CATEGORIES.get(keyword or "")
