"""The caller's country from an E.164 number: a small prefix table (no `phonenumbers`).

A country calling code names one country, except where several share it: +1 (the North
American Numbering Plan: the area code decides) and +7 (Russia, Kazakhstan on +76/+77). A code
absent from the table gives ``None``: a routing condition on countries does not match it.
Regions are ISO 3166-1 alpha-2 codes.
"""

from __future__ import annotations

from voicelane.domain.phone import country_code, is_e164

# Calling code -> region, where one code is one country (ITU-T E.164 assignments).
_BY_CODE = {
    "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR", "34": "ES",
    "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK",
    "46": "SE", "47": "NO", "48": "PL", "49": "DE", "51": "PE", "52": "MX", "53": "CU",
    "54": "AR", "55": "BR", "56": "CL", "57": "CO", "58": "VE", "60": "MY", "61": "AU",
    "62": "ID", "63": "PH", "64": "NZ", "65": "SG", "66": "TH", "81": "JP", "82": "KR",
    "84": "VN", "86": "CN", "90": "TR", "91": "IN", "92": "PK", "93": "AF", "94": "LK",
    "95": "MM", "98": "IR",
    "212": "MA", "213": "DZ", "216": "TN", "218": "LY", "221": "SN", "225": "CI", "233": "GH",
    "234": "NG", "237": "CM", "251": "ET", "254": "KE", "255": "TZ", "256": "UG", "260": "ZM",
    "263": "ZW", "351": "PT", "352": "LU", "353": "IE", "354": "IS", "356": "MT", "357": "CY",
    "358": "FI", "359": "BG", "370": "LT", "371": "LV", "372": "EE", "373": "MD", "374": "AM",
    "375": "BY", "376": "AD", "377": "MC", "380": "UA", "381": "RS", "385": "HR", "386": "SI",
    "387": "BA", "389": "MK", "420": "CZ", "421": "SK", "423": "LI", "852": "HK", "853": "MO",
    "855": "KH", "880": "BD", "886": "TW", "960": "MV", "961": "LB", "962": "JO", "963": "SY",
    "964": "IQ", "965": "KW", "966": "SA", "968": "OM", "970": "PS", "971": "AE", "972": "IL",
    "973": "BH", "974": "QA", "975": "BT", "976": "MN", "977": "NP", "992": "TJ", "994": "AZ",
    "995": "GE", "998": "UZ",
}

# NANP area codes that are not the United States (Canada and the Caribbean members).
_NANP = {
    **dict.fromkeys(["204", "226", "236", "249", "250", "263", "289", "306", "343", "354",
                     "365", "367", "368", "382", "403", "416", "418", "428", "431", "437",
                     "438", "450", "468", "474", "506", "514", "519", "548", "579", "581",
                     "584", "587", "600", "604", "613", "639", "647", "672", "683", "705",
                     "709", "742", "753", "778", "780", "782", "807", "819", "825", "867",
                     "873", "879", "902", "905"], "CA"),
    "242": "BS", "246": "BB", "264": "AI", "268": "AG", "284": "VG", "340": "VI", "345": "KY",
    "441": "BM", "473": "GD", "649": "TC", "658": "JM", "876": "JM", "664": "MS", "670": "MP",
    "671": "GU", "684": "AS", "721": "SX", "758": "LC", "767": "DM", "784": "VC", "787": "PR",
    "939": "PR", "809": "DO", "829": "DO", "849": "DO", "868": "TT", "869": "KN",
}


def country_of(number: str) -> str | None:
    """The ISO 3166-1 alpha-2 region of an E.164 number, or ``None`` (not E.164, or a code
    the table does not know)."""
    if not is_e164(number):
        return None
    digits = number[1:]
    code = country_code(number)
    if code == "1":
        return _NANP.get(digits[1:4], "US") if len(digits) >= 4 else None
    if code == "7":
        return "KZ" if digits[1:2] in ("6", "7") else "RU"
    return _BY_CODE.get(code)


KNOWN_REGIONS = frozenset({*_BY_CODE.values(), *_NANP.values(), "US", "RU", "KZ"})
