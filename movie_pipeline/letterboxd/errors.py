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
    advice = "the zip is damaged or incomplete (an interrupted download?): download the export again and drop the new zip"


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
