"""Why an upload cannot be read, in words a user can act on.

Every message reads `<file>[: line N]: <what is wrong>; <what to do>`, so it can be shown as is in
the Dagster UI or a log.
"""


class UploadError(ValueError):
    """A dropped upload that cannot be read as a Letterboxd export."""

    advice = "export your data again from Letterboxd (Settings > Data > Export your data) and drop the new file"

    def __init__(self, file: str, problem: str, line: int | None = None) -> None:
        self.file = file
        self.problem = problem
        self.line = line
        where = file if line is None else f"{file}: line {line}"
        super().__init__(f"{where}: {problem}; {self.advice}")

    def __reduce__(self) -> tuple[type["UploadError"], tuple[str, str, int | None]]:
        # Keeps the exception picklable although its constructor takes more than the message.
        return type(self), (self.file, self.problem, self.line)


class NotALetterboxdExport(UploadError):
    advice = (
        "expected a Letterboxd diary.csv, watched.csv or ratings.csv export: drop the zip Letterboxd sends "
        "(Settings > Data > Export your data), its unzipped folder, or one of those csv files"
    )


class EmptyUpload(UploadError):
    pass


class BinaryContent(UploadError):
    advice = (
        "this is binary data, not CSV text: drop the file exactly as Letterboxd exported it, "
        "or re-save it from your spreadsheet as 'CSV UTF-8'"
    )


class BrokenZip(UploadError):
    advice = (
        "the zip is damaged or incomplete (an interrupted download?): download the export again and drop the new zip"
    )


class UnsafeZipEntry(UploadError):
    advice = (
        "nothing was read from it: Letterboxd zips only hold csv files inside the zip's own folder, "
        "so drop the original zip as downloaded from Letterboxd"
    )


class UploadNotFound(UploadError):
    advice = (
        "it was moved, renamed or edited after it was registered: put the original file back in the uploads "
        "folder, or drop it again (changed content makes a new upload)"
    )


class LinkOutsideExport(UploadError):
    advice = (
        "nothing was read from it: put the file itself in the export folder (not a link to it), "
        "or drop the export zip as downloaded from Letterboxd"
    )


class NotAFile(UploadError):
    advice = "drop the export zip or csv file itself: pipes, sockets and devices are never read"


class UnreadableFile(UploadError):
    advice = "check that the file exists and can be read, or drop the export zip as downloaded from Letterboxd"


class UploadTooLarge(UploadError):
    advice = "a Letterboxd export is far smaller than this: drop the export exactly as downloaded from Letterboxd"


class ZipOverLimit(UploadTooLarge):
    advice = (
        "nothing was unpacked: a Letterboxd export zip is far within these limits, "
        "so drop the zip exactly as downloaded from Letterboxd"
    )


class ZipInsideZip(UploadError):
    advice = "unzip it once and drop the zip inside it (the one Letterboxd sent) on its own"


class SeveralExports(UploadError):
    advice = "drop each export on its own, as its own zip or folder, so each becomes its own upload"


class EncryptedZip(UploadError):
    advice = (
        "Letterboxd's zips have no password: drop the zip as downloaded from Letterboxd, "
        "or unzip this one yourself and drop the folder"
    )


class UnusableEntry(UploadError):
    """An entry of the uploads folder that cannot be an upload at all, so the sensor skips it."""


class NotAFileOrFolder(UnusableEntry):
    advice = (
        "remove it, or put the export zip, folder or csv itself in its place "
        "(links, pipes, sockets and devices are never read)"
    )


class UndecodableName(UnusableEntry):
    advice = "rename it so that its name is valid UTF-8 text (letters, digits, '-', '_' and '.' are always safe)"
