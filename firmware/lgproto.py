# LineGuard line-sense board: serial framing (board side).
# MicroPython and CPython. See PROTOCOL.md.
#
# Frame: SOF(0xA5) VER SEQ TYPE LEN PAYLOAD[LEN] CRC16(hi, lo)
# CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over VER..PAYLOAD.

SOF = 0xA5
VERSION = 1
MAX_PAYLOAD = 64
HEADER_LEN = 5

# board -> Pi
MSG_HELLO = 0x01
MSG_HEARTBEAT = 0x02
MSG_RING = 0x10
MSG_HOOK = 0x11
MSG_LOOP = 0x12
MSG_POLARITY = 0x13
MSG_VOLTAGE = 0x14
MSG_VERSION = 0x20
MSG_SELFTEST = 0x21
MSG_STATE = 0x22
MSG_ERROR = 0x7F
# Pi -> board
CMD_GET_VERSION = 0x81
CMD_SELFTEST = 0x82
CMD_GET_STATE = 0x83

ERR_UNKNOWN_COMMAND = 1
ERR_BAD_VERSION = 2


def crc16(data, crc=0xFFFF):
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


class Encoder:
    """Numbers and frames outgoing messages."""

    def __init__(self):
        self.seq = 0

    def frame(self, msg_type, payload=b""):
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("payload too long")
        body = bytes([VERSION, self.seq, msg_type, len(payload)]) + bytes(payload)
        self.seq = (self.seq + 1) & 0xFF
        crc = crc16(body)
        return bytes([SOF]) + body + bytes([crc >> 8, crc & 0xFF])


class CommandParser:
    """Byte-at-a-time frame parser for commands from the Pi; skips garbage."""

    def __init__(self):
        self.buf = bytearray()
        self.crc_errors = 0

    def feed(self, data):
        out = []
        for byte in data:
            self._byte(byte, out)
        return out

    def _byte(self, byte, out):
        buf = self.buf
        if not buf and byte != SOF:
            return
        buf.append(byte)
        if len(buf) == HEADER_LEN and buf[4] > MAX_PAYLOAD:
            self._resync(out)
            return
        if len(buf) < HEADER_LEN or len(buf) < HEADER_LEN + buf[4] + 2:
            self._later_frame(out)
            return
        if _valid_at(buf, 0):
            out.append(_command_at(buf, 0))
            self.buf = bytearray()
        else:
            self.crc_errors += 1
            self._resync(out)

    def _later_frame(self, out):
        # the frame at the start is incomplete; if a complete valid one ends
        # here, the start was a false SOF: take that frame now
        buf = self.buf
        for start in range(1, len(buf) - HEADER_LEN - 1):
            if buf[start] == SOF and _valid_at(buf, start):
                self.crc_errors += 1
                out.append(_command_at(buf, start))
                self.buf = bytearray()
                return

    def _resync(self, out):
        # drop the SOF we started on and rescan what follows it
        rest = bytes(self.buf[1:])
        self.buf = bytearray()
        for byte in rest:
            self._byte(byte, out)


def _valid_at(buf, start):
    if len(buf) - start < HEADER_LEN:
        return False
    n = buf[start + 4]
    end = start + HEADER_LEN + n + 2
    if n > MAX_PAYLOAD or len(buf) != end:
        return False
    crc = (buf[end - 2] << 8) | buf[end - 1]
    return crc16(buf[start + 1:end - 2]) == crc


def _command_at(buf, start):
    n = buf[start + 4]
    return (buf[start + 1], buf[start + 3], bytes(buf[start + HEADER_LEN:start + HEADER_LEN + n]))
