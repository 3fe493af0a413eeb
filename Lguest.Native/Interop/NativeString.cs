using System.Text;

namespace Lguest.Native.Interop;

/// <summary>Tmds.LibC takes paths and names as byte*: a C string, which managed strings are not.</summary>
internal static class NativeString
{
    /// <summary>
    /// <paramref name="text"/> as NUL-terminated UTF-8, to pin and pass. Only for set-up calls (open, unlink): it
    /// allocates, which the I/O paths never need since they take descriptors.
    /// </summary>
    public static byte[] Utf8(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
