using System.Text;
using Azure.Storage.Blobs.Specialized;

namespace RoleGen.Infrastructure.Storage;

/// <summary>A write stream that stages blocks as it goes and commits the block list only on dispose: until then the old
/// blob (if any) stays intact and readers never see a partial or empty blob. (The SDK's OpenWrite(overwrite: true)
/// truncates the blob at open.) Content that fits in one block is sent as a single Put Blob on dispose (as atomic, one
/// request instead of two). Memory is one block.</summary>
internal sealed class BlockCommitStream(BlockBlobClient blob, int blockSize = 4 << 20) : Stream
{
    private readonly List<string> _blocks = [];
    private readonly MemoryStream _buffer = new();
    private long _length;
    private bool _disposed;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_disposed;

    public override long Length => _length;

    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, blockSize - (int)_buffer.Length);
            _buffer.Write(buffer[..take]);
            _length += take;
            buffer = buffer[take..];
            if (_buffer.Length >= blockSize)
            {
                StageBuffer();
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, blockSize - (int)_buffer.Length);
            _buffer.Write(buffer.Span[..take]);
            _length += take;
            buffer = buffer[take..];
            if (_buffer.Length >= blockSize)
            {
                await StageBufferAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private string NextBlockId() => Convert.ToBase64String(Encoding.ASCII.GetBytes($"rolegen-block-{_blocks.Count:D8}"));

    private void StageBuffer()
    {
        var id = NextBlockId();
        _buffer.Position = 0;
        blob.StageBlock(id, _buffer);
        _blocks.Add(id);
        _buffer.SetLength(0);
    }

    private async Task StageBufferAsync(CancellationToken cancellationToken)
    {
        var id = NextBlockId();
        _buffer.Position = 0;
        await blob.StageBlockAsync(id, _buffer, cancellationToken: cancellationToken).ConfigureAwait(false);
        _blocks.Add(id);
        _buffer.SetLength(0);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_blocks.Count == 0)
            {
                _buffer.Position = 0;
                blob.Upload(_buffer);
            }
            else
            {
                if (_buffer.Length > 0)
                {
                    StageBuffer();
                }
                blob.CommitBlockList(_blocks);
            }
            _buffer.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            if (_blocks.Count == 0)
            {
                // One block's worth or less (most blobs): one Put Blob instead of Put Block + Put Block List.
                _buffer.Position = 0;
                await blob.UploadAsync(_buffer).ConfigureAwait(false);
            }
            else
            {
                if (_buffer.Length > 0)
                {
                    await StageBufferAsync(CancellationToken.None).ConfigureAwait(false);
                }
                await blob.CommitBlockListAsync(_blocks).ConfigureAwait(false);
            }
            await _buffer.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }
}
