class ZipcError(Exception):
    """A zipc call failed. `status` is the zipc_status code, `status_name` its C name."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status
        self.status_name = STATUS_NAMES.get(status, "ZIPC_UNKNOWN") if status is not None else None


class LibraryNotFoundError(ZipcError, ImportError):
    """libzipc could not be loaded."""


class NotFoundError(ZipcError, LookupError):
    """No segment, or no structure, of that name."""


class MismatchError(ZipcError):
    """A structure differs from its declaration (kind, layout, capacity or parameters)."""


class CorruptError(ZipcError):
    """The segment's bytes are malformed."""


class ZipcTimeoutError(ZipcError, TimeoutError):
    """A blocking operation reached its timeout."""


class RoleTakenError(ZipcError):
    """A producer, consumer or endpoint side is held by another handle."""


class StaleHandleError(ZipcError):
    """A pool handle was released already, or belongs to another pool."""


class SubscribersFullError(ZipcError):
    """Every subscriber record of a topic is held by a live subscriber (the message names the limit)."""


class MapFullError(ZipcError):
    """A map or set holds its capacity and the key is new (the message names the capacity)."""


class ClosedError(ZipcError):
    """The queue, ring or topic is closed: nothing more may be sent, and everything sent before
    the close has been received."""


class InvalidArgumentError(ZipcError, ValueError):
    """An argument is invalid (a wrong element size, a bad name, an index out of bounds, ...)."""


_ERRORS = {
    STATUS["ZIPC_ERR_NOT_FOUND"]: NotFoundError,
    STATUS["ZIPC_ERR_KIND"]: MismatchError,
    STATUS["ZIPC_ERR_LAYOUT"]: MismatchError,
    STATUS["ZIPC_ERR_CAPACITY"]: MismatchError,
    STATUS["ZIPC_ERR_PARAMETER"]: MismatchError,
    STATUS["ZIPC_ERR_INCOMPATIBLE"]: MismatchError,
    STATUS["ZIPC_ERR_CORRUPT"]: CorruptError,
    STATUS["ZIPC_ERR_TIMEOUT"]: ZipcTimeoutError,
    STATUS["ZIPC_ERR_ROLE_TAKEN"]: RoleTakenError,
    STATUS["ZIPC_ERR_SUBSCRIBERS_FULL"]: SubscribersFullError,
    STATUS["ZIPC_ERR_MAP_FULL"]: MapFullError,
    STATUS["ZIPC_ERR_CLOSED"]: ClosedError,
    STATUS["ZIPC_ERR_STALE_HANDLE"]: StaleHandleError,
    STATUS["ZIPC_ERR_INVALID_ARGUMENT"]: InvalidArgumentError,
    STATUS["ZIPC_ERR_INVALID_NAME"]: InvalidArgumentError,
    STATUS["ZIPC_ERR_OUT_OF_BOUNDS"]: InvalidArgumentError,
    STATUS["ZIPC_ERR_NULL"]: InvalidArgumentError,
}

OK = STATUS["ZIPC_OK"]
AGAIN = STATUS["ZIPC_AGAIN"]
