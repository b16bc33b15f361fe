"""TMDB reference lists the bundled corpus needs but does not carry itself."""

# GET /3/genre/movie/list (fixtures/tmdb/jdrouet-tmdb-api/genre-movie-list.json). TMDB has since retired
# "Foreign", but the Kaggle corpus still uses it (with this id), so the Udacity names map to it as well.
GENRE_IDS = {
    "Action": 28, "Adventure": 12, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99, "Drama": 18,
    "Family": 10751, "Fantasy": 14, "History": 36, "Horror": 27, "Music": 10402, "Mystery": 9648,
    "Romance": 10749, "Science Fiction": 878, "TV Movie": 10770, "Thriller": 53, "War": 10752, "Western": 37,
    "Foreign": 10769,
}

# english_name of GET /3/configuration/languages (the example in fixtures/tmdb/openapi/tmdb-api.json), for the
# codes the corpus uses: its spoken_languages only carry the native name.
LANGUAGE_ENGLISH_NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "bg": "Bulgarian", "bm": "Bambara", "bn": "Bengali",
    "bo": "Tibetan", "br": "Breton", "bs": "Bosnian", "ca": "Catalan", "ce": "Chechen", "cn": "Cantonese",
    "co": "Corsican", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "dz": "Dzongkha",
    "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gd": "Gaelic", "gl": "Galician", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "is": "Icelandic",
    "it": "Italian", "iu": "Inuktitut", "ja": "Japanese", "ka": "Georgian", "kk": "Kazakh", "km": "Khmer",
    "ko": "Korean", "ku": "Kurdish", "kw": "Cornish", "ky": "Kirghiz", "la": "Latin", "mi": "Maori",
    "ml": "Malayalam", "mn": "Mongolian", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "nv": "Navajo",
    "ny": "Chichewa; Nyanja", "pa": "Punjabi", "pl": "Polish", "ps": "Pushto", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sa": "Sanskrit", "sh": "Serbo-Croatian", "si": "Sinhalese", "sk": "Slovak",
    "sl": "Slovenian", "so": "Somali", "sq": "Albanian", "sr": "Serbian", "st": "Sotho", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "to": "Tonga", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "wo": "Wolof", "xh": "Xhosa", "xx": "No Language",
    "yi": "Yiddish", "zh": "Mandarin", "zu": "Zulu",
}
