"""voiceotp: voice verification codes (语音验证码) over the ihuyi voice API."""

__version__ = "0.1.0"
