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
            return
        n = buf[4]
        crc = (buf[HEADER_LEN + n] << 8) | buf[HEADER_LEN + n + 1]
        if crc16(buf[1:HEADER_LEN + n]) == crc:
            out.append((buf[1], buf[3], bytes(buf[HEADER_LEN:HEADER_LEN + n])))
            self.buf = bytearray()
        else:
            self.crc_errors += 1
            self._resync(out)

    def _resync(self, out):
        # drop the SOF we started on and rescan what follows it
        rest = bytes(self.buf[1:])
        self.buf = bytearray()
        for byte in rest:
            self._byte(byte, out)
