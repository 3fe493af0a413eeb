namespace Lguest.Native.VhostUser;

/// <summary>GET_CONFIG and SET_CONFIG (protocol feature CONFIG): the device's configuration space.</summary>
public sealed partial class VhostUserSession
{
    /// <summary>
    /// The front end reads as much of the configuration space as its device model knows (QEMU asks for the whole
    /// struct virtio_blk_config), which may be more than a device defines: fields a device does not implement read
    /// as zero, as they do on any virtio device whose feature bits do not announce them. Only the protocol's own
    /// limit on a config message bounds the read.
    /// </summary>
    private VhostUserConfig GetConfig(VhostUserConfig request)
    {
        RequireNegotiated(VhostUserRequest.GetConfig, VhostUserProtocolFeatures.Config);
        CheckConfigRange(VhostUserRequest.GetConfig, request, VhostUserConfig.MaxDataSize);
        ReadOnlySpan<byte> space = _options.ReadConfig!().Span;
        byte[] reply = new byte[request.Data.Length];
        if (request.Offset < (uint)space.Length)
        {
            ReadOnlySpan<byte> defined = space[(int)request.Offset..];
            defined[..Math.Min(defined.Length, reply.Length)].CopyTo(reply);
        }
        return new VhostUserConfig(request.Offset, request.Flags, reply);
    }

    private void SetConfig(VhostUserConfig request)
    {
        RequireNegotiated(VhostUserRequest.SetConfig, VhostUserProtocolFeatures.Config);
        if (_options.WriteConfig is null)
        {
            throw Refuse(VhostUserViolation.ConfigOutOfRange, "SET_CONFIG: this device's configuration space is read-only");
        }
        CheckConfigRange(VhostUserRequest.SetConfig, request, _options.ReadConfig!().Length);
        _options.WriteConfig(request.Offset, request.Data);
    }

    private static void CheckConfigRange(VhostUserRequest request, VhostUserConfig config, int spaceLength)
    {
        if (config.Offset > (uint)spaceLength || (uint)config.Data.Length > (uint)spaceLength - config.Offset)
        {
            throw Refuse(VhostUserViolation.ConfigOutOfRange, $"{request} of {config.Data.Length} bytes at offset {config.Offset} is outside the {spaceLength}-byte configuration space");
        }
    }
}
