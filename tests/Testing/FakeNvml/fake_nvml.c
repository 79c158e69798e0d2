/*
 * A stand-in for libnvidia-ml with NVML's exact ABI (the functions GpuSplit binds, their signatures and
 * struct layouts), so tests run the real P/Invoke path on machines without a GPU.
 *
 * Every call re-reads a line-based state file, so a test can change the "GPU" while a process polls it.
 * The file's path is FAKE_NVML_STATE from the environment, unless the process set one with
 * fake_nvml_set_state_path (.NET keeps its own copy of the environment, so an in-process test cannot
 * change what getenv sees).
 *
 * State file, one item a line, '#' starts a comment line:
 *   device uuid=GPU-1 total=6442450944 used=1073741824|sum [free=N] util=30 memutil=20 temp=55 power=42000 cc=6.1 name=NVIDIA GeForce GTX 1060 6GB
 *       (name= comes last and takes the rest of the line; used=sum is the sum of the device's processes;
 *        free defaults to total - used)
 *   process device=0 pid=1234 used=4294967296|na [late] [graphics]
 *       (used=na is NVML_VALUE_NOT_AVAILABLE, as on Windows WDDM; a late process is missing from the
 *        size query (count 0) and present afterwards: the process list grew between the two calls; a graphics
 *        process, a game, is listed by nvmlDeviceGetGraphicsRunningProcesses_v3 instead of the compute list)
 *   fail <nvml function name> <nvmlReturn_t code> [device=N]
 *       (that function returns the code, for every device or only device N; nvmlInit_v2 included)
 *   include <path>
 *       (the process lines of another state file, read on every call like this one; a file that does not exist
 *        adds nothing. A program under test writes its own process line there, e.g. the ML stand-in as its
 *        models load, while the test owns the devices.)
 * A state that cannot be read or parsed makes every call return NVML_ERROR_UNKNOWN with a message on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_UNKNOWN = 999,
};

typedef struct fake_device_slot *nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t is 24 bytes on x64");

#define MAX_DEVICES 16
#define MAX_PROCESSES 256
#define MAX_FAILURES 32
#define TEXT_SIZE 96

struct fake_device_slot { int index; };

struct device {
    char name[TEXT_SIZE], uuid[TEXT_SIZE];
    unsigned long long total, free, used;
    int used_is_sum, has_free;
    unsigned int util, memutil, temp, power;
    int cc_major, cc_minor;
};
struct process { unsigned int device, pid; unsigned long long used; int late, graphics; };
struct failure { char function[64]; int code; int device; /* -1: every device */ };
struct state {
    int device_count, process_count, failure_count;
    struct device devices[MAX_DEVICES];
    struct process processes[MAX_PROCESSES];
    struct failure failures[MAX_FAILURES];
};

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static char state_path_override[4096];
static int init_count;
static struct state current;
static struct fake_device_slot slots[MAX_DEVICES] = {
    {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14}, {15},
};

EXPORT void fake_nvml_set_state_path(const char *path)
{
    pthread_mutex_lock(&gate);
    snprintf(state_path_override, sizeof state_path_override, "%s", path ? path : "");
    pthread_mutex_unlock(&gate);
}

static int complain(const char *path, int line, const char *what, const char *token)
{
    fprintf(stderr, "fake_nvml: %s:%d: %s '%s'\n", path, line, what, token);
    return 0;
}

static int parse_u64(const char *text, unsigned long long *value)
{
    char *end;
    errno = 0;
    *value = strtoull(text, &end, 10);
    return errno == 0 && end != text && *end == '\0';
}

static int parse_u32(const char *text, unsigned int *value)
{
    unsigned long long wide;
    if (!parse_u64(text, &wide) || wide > 0xFFFFFFFFull) return 0;
    *value = (unsigned int)wide;
    return 1;
}

static int parse_device(char *rest, struct device *d, const char *path, int line)
{
    int has_free = 0;
    memset(d, 0, sizeof *d);
    while (rest && *rest) {
        if (strncmp(rest, "name=", 5) == 0) {
            snprintf(d->name, sizeof d->name, "%s", rest + 5);
            break;
        }
        char *token = rest;
        rest = strchr(rest, ' ');
        if (rest) *rest++ = '\0';
        char *value = strchr(token, '=');
        if (!value) return complain(path, line, "expected key=value, got", token);
        *value++ = '\0';
        int ok;
        if (strcmp(token, "uuid") == 0) ok = snprintf(d->uuid, sizeof d->uuid, "%s", value) < TEXT_SIZE;
        else if (strcmp(token, "total") == 0) ok = parse_u64(value, &d->total);
        else if (strcmp(token, "used") == 0)
            ok = strcmp(value, "sum") == 0 ? (d->used_is_sum = 1) : parse_u64(value, &d->used);
        else if (strcmp(token, "free") == 0) ok = has_free = parse_u64(value, &d->free);
        else if (strcmp(token, "util") == 0) ok = parse_u32(value, &d->util);
        else if (strcmp(token, "memutil") == 0) ok = parse_u32(value, &d->memutil);
        else if (strcmp(token, "temp") == 0) ok = parse_u32(value, &d->temp);
        else if (strcmp(token, "power") == 0) ok = parse_u32(value, &d->power);
        else if (strcmp(token, "cc") == 0) ok = sscanf(value, "%d.%d", &d->cc_major, &d->cc_minor) == 2;
        else return complain(path, line, "unknown device key", token);
        if (!ok) return complain(path, line, "bad value for", token);
    }
    d->has_free = has_free;
    return 1;
}

static int parse_process(char *rest, struct process *p, const char *path, int line)
{
    int has_pid = 0;
    memset(p, 0, sizeof *p);
    for (char *token = strtok(rest, " "); token; token = strtok(NULL, " ")) {
        if (strcmp(token, "late") == 0) { p->late = 1; continue; }
        if (strcmp(token, "graphics") == 0) { p->graphics = 1; continue; }
        char *value = strchr(token, '=');
        if (!value) return complain(path, line, "expected key=value or 'late', got", token);
        *value++ = '\0';
        int ok;
        if (strcmp(token, "device") == 0) ok = parse_u32(value, &p->device);
        else if (strcmp(token, "pid") == 0) ok = has_pid = parse_u32(value, &p->pid);
        else if (strcmp(token, "used") == 0)
            ok = strcmp(value, "na") == 0 ? (p->used = ~0ull, 1) : parse_u64(value, &p->used);
        else return complain(path, line, "unknown process key", token);
        if (!ok) return complain(path, line, "bad value for", token);
    }
    return has_pid ? 1 : complain(path, line, "process without", "pid");
}

static int parse_failure(char *rest, struct failure *f, const char *path, int line)
{
    char *function = strtok(rest, " "), *code = strtok(NULL, " "), *device = strtok(NULL, " ");
    unsigned int number, index;
    if (!function || !code || !parse_u32(code, &number))
        return complain(path, line, "expected 'fail <function> <code> [device=N]', got", rest);
    snprintf(f->function, sizeof f->function, "%s", function);
    f->code = (int)number;
    f->device = -1;
    if (device) {
        if (strncmp(device, "device=", 7) != 0 || !parse_u32(device + 7, &index))
            return complain(path, line, "expected device=N, got", device);
        f->device = (int)index;
    }
    return 1;
}

/* Parses one state file into current; an included file may only add process lines. */
static int load_file(const char *path, int included)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        if (included && errno == ENOENT) return 1;
        fprintf(stderr, "fake_nvml: cannot open state file %s: %s\n", path, strerror(errno));
        return 0;
    }
    char text[1024];
    int line = 0, ok = 1;
    while (ok && fgets(text, sizeof text, file)) {
        line++;
        text[strcspn(text, "\r\n")] = '\0';
        if (text[0] == '\0' || text[0] == '#') continue;
        char *rest = strchr(text, ' ');
        if (rest) *rest++ = '\0';
        if (included && strcmp(text, "process") != 0)
            ok = complain(path, line, "an included file has process lines only, not", text);
        else if (strcmp(text, "device") == 0)
            ok = current.device_count < MAX_DEVICES
                ? parse_device(rest, &current.devices[current.device_count++], path, line)
                : complain(path, line, "too many", "device");
        else if (strcmp(text, "process") == 0)
            ok = current.process_count < MAX_PROCESSES
                ? parse_process(rest, &current.processes[current.process_count++], path, line)
                : complain(path, line, "too many", "process");
        else if (strcmp(text, "fail") == 0)
            ok = current.failure_count < MAX_FAILURES
                ? parse_failure(rest ? rest : "", &current.failures[current.failure_count++], path, line)
                : complain(path, line, "too many", "fail");
        else if (strcmp(text, "include") == 0)
            ok = rest && *rest ? load_file(rest, 1) : complain(path, line, "include without a", "path");
        else
            ok = complain(path, line, "unknown line kind", text);
    }
    fclose(file);
    return ok;
}

/* Called with the gate held. */
static int load_state(void)
{
    const char *path = state_path_override[0] ? state_path_override : getenv("FAKE_NVML_STATE");
    if (!path || !*path) {
        fprintf(stderr, "fake_nvml: no state file (set FAKE_NVML_STATE)\n");
        return 0;
    }
    memset(&current, 0, sizeof current);
    if (!load_file(path, 0)) return 0;
    for (int i = 0; i < current.device_count; i++) {
        struct device *d = &current.devices[i];
        if (d->used_is_sum) {
            d->used = 0;
            for (int p = 0; p < current.process_count; p++)
                if (current.processes[p].device == (unsigned int)i && current.processes[p].used != ~0ull)
                    d->used += current.processes[p].used;
        }
        if (!d->has_free) d->free = d->total >= d->used ? d->total - d->used : 0;
    }
    return 1;
}

/*
 * Every entry point starts here: takes the gate, re-reads the state, applies an injected failure and
 * checks initialisation. On NVML_SUCCESS the caller holds the gate and must release it with leave().
 */
static nvmlReturn_t enter(const char *function, int device, int needs_init)
{
    pthread_mutex_lock(&gate);
    if (!load_state()) {
        pthread_mutex_unlock(&gate);
        return NVML_ERROR_UNKNOWN;
    }
    for (int i = 0; i < current.failure_count; i++) {
        const struct failure *f = &current.failures[i];
        if (strcmp(f->function, function) == 0 && (f->device < 0 || device < 0 || f->device == device)) {
            pthread_mutex_unlock(&gate);
            return f->code;
        }
    }
    if (needs_init && init_count == 0) {
        pthread_mutex_unlock(&gate);
        return NVML_ERROR_UNINITIALIZED;
    }
    return NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t result)
{
    pthread_mutex_unlock(&gate);
    return result;
}

static int index_of(nvmlDevice_t device)
{
    if (device < &slots[0] || device >= &slots[MAX_DEVICES]) return -1;
    return device->index;
}

/* Enters for a device handle; on success *d points at the device's current state. */
static nvmlReturn_t enter_device(const char *function, nvmlDevice_t handle, const void *out, struct device **d)
{
    int index = index_of(handle);
    nvmlReturn_t result = enter(function, index, 1);
    if (result != NVML_SUCCESS) return result;
    if (index < 0 || index >= current.device_count || !out) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *d = &current.devices[index];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    nvmlReturn_t result = enter("nvmlInit_v2", -1, 0);
    if (result != NVML_SUCCESS) return result;
    init_count++;
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t result = enter("nvmlShutdown", -1, 1);
    if (result != NVML_SUCCESS) return result;
    init_count--;
    return leave(NVML_SUCCESS);
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 12: return "NVML Shared Library Not Found";
    case 13: return "Function Not Found";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    nvmlReturn_t result = enter("nvmlDeviceGetCount_v2", -1, 1);
    if (result != NVML_SUCCESS) return result;
    if (!count) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *count = (unsigned int)current.device_count;
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    nvmlReturn_t result = enter("nvmlDeviceGetHandleByIndex_v2", (int)index, 1);
    if (result != NVML_SUCCESS) return result;
    if (!device || index >= (unsigned int)current.device_count) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *device = &slots[index];
    return leave(NVML_SUCCESS);
}

static nvmlReturn_t copy_text(const char *text, char *buffer, unsigned int length)
{
    if (strlen(text) + 1 > length) return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    memcpy(buffer, text, strlen(text) + 1);
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetName", device, name, &d);
    return result != NVML_SUCCESS ? result : copy_text(d->name, name, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetUUID", device, uuid, &d);
    return result != NVML_SUCCESS ? result : copy_text(d->uuid, uuid, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetMemoryInfo", device, memory, &d);
    if (result != NVML_SUCCESS) return result;
    memory->total = d->total;
    memory->free = d->free;
    memory->used = d->used;
    return leave(NVML_SUCCESS);
}

static nvmlReturn_t running_processes(const char *function, int graphics, nvmlDevice_t device, unsigned int *count,
                                      nvmlProcessInfo_t *infos)
{
    struct device *d;
    nvmlReturn_t result = enter_device(function, device, count, &d);
    if (result != NVML_SUCCESS) return result;
    unsigned int index = (unsigned int)index_of(device), capacity = *count, visible = 0;
    if (capacity > 0 && !infos) return leave(NVML_ERROR_INVALID_ARGUMENT);
    for (int i = 0; i < current.process_count; i++) {
        const struct process *p = &current.processes[i];
        if (p->device != index || p->graphics != graphics || (p->late && capacity == 0)) continue;
        if (visible < capacity) {
            infos[visible].pid = p->pid;
            infos[visible].usedGpuMemory = p->used;
            infos[visible].gpuInstanceId = 0xFFFFFFFFu;
            infos[visible].computeInstanceId = 0xFFFFFFFFu;
        }
        visible++;
    }
    *count = visible;
    return leave(visible > capacity ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                           nvmlProcessInfo_t *infos)
{
    return running_processes("nvmlDeviceGetComputeRunningProcesses_v3", 0, device, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                            nvmlProcessInfo_t *infos)
{
    return running_processes("nvmlDeviceGetGraphicsRunningProcesses_v3", 1, device, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetUtilizationRates", device, utilization, &d);
    if (result != NVML_SUCCESS) return result;
    utilization->gpu = d->util;
    utilization->memory = d->memutil;
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temperature)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetTemperature", device, temperature, &d);
    if (result != NVML_SUCCESS) return result;
    if (sensor != 0) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *temperature = d->temp;
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetPowerUsage", device, power, &d);
    if (result != NVML_SUCCESS) return result;
    *power = d->power;
    return leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    struct device *d;
    nvmlReturn_t result = enter_device("nvmlDeviceGetCudaComputeCapability", device, major, &d);
    if (result != NVML_SUCCESS) return result;
    if (!minor) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *major = d->cc_major;
    *minor = d->cc_minor;
    return leave(NVML_SUCCESS);
}
