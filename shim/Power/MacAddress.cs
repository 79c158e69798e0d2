using System.Globalization;

namespace GpuSplit.Shim.Power;

/// <summary>A network card's hardware address, the one a Wake-on-LAN packet names.</summary>
public readonly record struct MacAddress
{
    public const string Formats = "aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff";

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    /// <summary>The six bytes, most significant first, as they go on the wire.</summary>
    public byte[] GetBytes()
    {
        var bytes = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(_value >> (8 * (5 - i)));
        }

        return bytes;
    }

    /// <summary>
    /// Accepts the three spellings people copy from <c>ip link</c>, Windows' <c>getmac</c> and router pages.
    /// Separators must be used throughout or not at all, so a typo such as a missing digit cannot shift the bytes.
    /// </summary>
    public static bool TryParse(string? text, out MacAddress address)
    {
        address = default;
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        string hex;
        if (value.Length == 12)
        {
            hex = value;
        }
        else if (value.Length == 17 && (value[2] is ':' or '-'))
        {
            var separator = value[2];
            for (var i = 2; i < 17; i += 3)
            {
                if (value[i] != separator)
                {
                    return false;
                }
            }

            hex = string.Concat(Enumerable.Range(0, 6).Select(i => value.Substring(i * 3, 2)));
        }
        else
        {
            return false;
        }

        if (!hex.All(char.IsAsciiHexDigit) || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        address = new MacAddress(number);
        return true;
    }

    public override string ToString() => string.Join(':', GetBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
