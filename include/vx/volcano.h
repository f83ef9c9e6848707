/* volcano: the names this daemon shares with other programs. The Volcano vGPU
 * device plugin's protocol (resource names, pod and node annotations, the
 * node lock) and this project's own labels and annotations (SPEC section 2).
 * Every module takes these spellings from here, so a key is written in one
 * place only. */
#ifndef VX_VOLCANO_H
#define VX_VOLCANO_H

/* Extended resources a pod asks for (resources.limits, else requests). */
#define RES_NUMBER "volcano.sh/vgpu-number"
#define RES_MEMORY "volcano.sh/vgpu-memory"
#define RES_MEMPCT "volcano.sh/vgpu-memory-percentage"
#define RES_CORES "volcano.sh/vgpu-cores"

/* Written on the pod at bind; read back after a restart. */
#define ANN_NODE "volcano.sh/vgpu-node"
#define ANN_TIME "volcano.sh/vgpu-time"
#define ANN_IDS "volcano.sh/vgpu-ids-new"
#define ANN_TO_ALLOCATE "volcano.sh/devices-to-allocate"
#define ANN_BIND_PHASE "volcano.sh/bind-phase"
#define ANN_BIND_TIME "volcano.sh/bind-time"

/* On the node: the GPU inventory the device plugin registers, and the lock
 * a scheduler holds from a bind until the plugin has allocated. */
#define ANN_REGISTER "volcano.sh/node-vgpu-register"
#define ANN_NODE_LOCK "hamivgpu"
/* A lock older than this is taken over whatever holds it (SPEC section 2). */
#define VOLCANO_LOCK_TTL_S 300

/* Device selectors (pod annotations). */
#define ANN_USE_GPUTYPE "nvidia.com/use-gputype"
#define ANN_NOUSE_GPUTYPE "nvidia.com/nouse-gputype"
#define ANN_USE_UUID "volcano.sh/vgpu-use-gpuuuid"
#define ANN_NOUSE_UUID "volcano.sh/vgpu-nouse-gpuuuid"

/* A card's compute in vgpu-cores: 100 is the whole card, exclusively. */
#define VOLCANO_CORES_PER_GPU 100

/* This project's pod labels and annotations. */
#define VX_LABEL_QUEUE "vgpu-extender.io/queue"
#define VX_ANN_PRIORITY "vgpu-extender.io/priority"
#define VX_ANN_BILLING "vgpu-extender.io/billing"
#define VX_ANN_USER "vgpu-extender.io/user"
#define VX_ANN_NODE_POLICY "vgpu-extender.io/node-policy"
#define VX_ANN_GPU_POLICY "vgpu-extender.io/gpu-policy"
#define VX_ANN_DEV_RUNTIME "vgpu-extender.io/dev-runtime-seconds"
/* Set when a waiting licensed pod may run now: the update re-queues it in
 * kube-scheduler at once, and tells its user. */
#define VX_ANN_ADMITTED_AT "vgpu-extender.io/admitted-at"

/* Licence queue priority: higher first (SPEC section 2). */
#define VX_PRIORITY_MIN 1
#define VX_PRIORITY_MAX 10
#define VX_PRIORITY_DEFAULT 5

#endif
