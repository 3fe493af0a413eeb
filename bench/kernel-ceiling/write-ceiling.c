/*
 * Why: every back end's 4 KiB random-write figure ends in the same kernel call, a buffered pwrite into one file.
 * This measures that call alone, on one and on two threads, over a pre-written file of the benchmark's size, so
 * docs/benchmarks.md can say how close to the kernel's own ceiling any back end comes.
 *
 *   gcc -O2 -pthread -o /tmp/write-ceiling bench/kernel-ceiling/write-ceiling.c && /tmp/write-ceiling /tmp 1 2
 *
 * PREFILL_BLOCK=4096 pre-writes the file in 4 KiB writes instead of 1 MiB ones: how the pages entered the page cache
 * decides the size of its folios, and ext4's write path walks every buffer head of the folio it writes into.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES (256L << 20)
#define WRITES_PER_THREAD 200000L

static int fd;

static void *writer(void *seed_arg)
{
    unsigned seed = (unsigned)(long)seed_arg;
    char block[4096];
    memset(block, 0x5a, sizeof block);
    for (long i = 0; i < WRITES_PER_THREAD; i++) {
        off_t offset = (off_t)(rand_r(&seed) % (FILE_BYTES / 4096)) * 4096;
        if (pwrite(fd, block, sizeof block, offset) != (ssize_t)sizeof block) {
            perror("pwrite");
            exit(1);
        }
    }
    return NULL;
}

static double run(int threads)
{
    pthread_t ids[16];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, writer, (void *)(long)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR THREADS...\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/write-ceiling.%d.img", argv[1], getpid());
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    unlink(path);
    /* Pre-written, as the benchmark's image is: the writes overwrite cached pages, they allocate nothing. */
    long block = getenv("PREFILL_BLOCK") ? atol(getenv("PREFILL_BLOCK")) : 1L << 20;
    if (block < 512 || block > (1L << 20) || FILE_BYTES % block != 0)
        return 2;
    char *chunk = calloc(1, (size_t)block);
    for (long offset = 0; offset < FILE_BYTES; offset += block)
        if (pwrite(fd, chunk, (size_t)block, offset) != block) {
            perror("pre-write");
            return 1;
        }
    for (int a = 2; a < argc; a++) {
        int threads = atoi(argv[a]);
        if (threads < 1 || threads > 16)
            return 2;
        double seconds = run(threads);
        printf("4 KiB random pwrite, %d thread(s): %.0f writes/s in all, %.2f us per write per thread\n",
               threads, WRITES_PER_THREAD * threads / seconds, seconds / WRITES_PER_THREAD * 1e6);
    }
    return 0;
}
